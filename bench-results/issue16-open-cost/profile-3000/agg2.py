import bisect,sys,collections,re
m=[]
for line in open(sys.argv[2]):
    a,sz,name=line.split(' ',2)
    m.append((int(a,16),int(sz,16),name.strip()))
m.sort(); starts=[x[0] for x in m]
def sym(addr,s):
    if s and s!='[unknown]': return s
    a=int(addr,16); i=bisect.bisect(starts,a)-1
    if i>=0 and a<m[i][0]+m[i][1]:
        n=m[i][2]; n=re.sub(r'\(.*\)','',n); return n.split(' ')[-1]
    return '?'
filt=sys.argv[3] if len(sys.argv)>3 else None
self=collections.Counter(); incl=collections.Counter(); comms=collections.Counter(); n=0
stack=[]; comm=None
def flush():
    global n
    if not stack: return
    if filt and not comm.startswith(filt): return
    n+=1; comms[comm]+=1
    self[stack[0]]+=1
    for f in set(stack): incl[f]+=1
for line in open(sys.argv[1]):
    line=line.rstrip('\n')
    if not line.strip():
        flush(); stack=[]; continue
    if not line.startswith('\t') and not line.startswith(' '):
        comm=re.sub(r'\s+\d+$','',line.strip()); continue
    parts=line.strip().split(' ',1)
    addr=parts[0]; rest=parts[1] if len(parts)>1 else ''
    s=rest.split('+0x')[0].split(' (')[0]
    stack.append(sym(addr,s))
flush()
print('samples',n)
print('--- comm'); [print(f'{c*100/n:6.2f}% {k}') for k,c in comms.most_common(12)]
print('--- self'); [print(f'{c*100/n:6.2f}% {k}') for k,c in self.most_common(40)]
print('--- inclusive'); [print(f'{c*100/n:6.2f}% {k}') for k,c in incl.most_common(60)]

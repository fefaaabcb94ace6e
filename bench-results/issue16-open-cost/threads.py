import os,sys,time,re,collections
pid=sys.argv[1]; secs=float(sys.argv[2])
def snap():
    d=collections.defaultdict(lambda:[0,0,0,0])
    for t in os.listdir(f'/proc/{pid}/task'):
        try:
            st=open(f'/proc/{pid}/task/{t}/stat').read()
            comm=st[st.index('(')+1:st.rindex(')')]
            f=st[st.rindex(')')+2:].split()
            ut,stt=int(f[11]),int(f[12])
            vol=nv=0
            for l in open(f'/proc/{pid}/task/{t}/status'):
                if l.startswith('voluntary_ctxt'): vol=int(l.split()[1])
                if l.startswith('nonvoluntary_ctxt'): nv=int(l.split()[1])
            g=re.sub(r'[-#]?\d+$','',comm)
            a=d[g]; a[0]+=ut; a[1]+=stt; a[2]+=vol; a[3]+=nv
        except Exception: pass
    return d
a=snap(); time.sleep(secs); b=snap()
tot=[0,0,0,0]
rows=[]
for g in b:
    x=[b[g][i]-a.get(g,[0]*4)[i] for i in range(4)]
    for i in range(4): tot[i]+=x[i]
    rows.append((x[0]+x[1],g,x))
rows.sort(reverse=True)
hz=os.sysconf('SC_CLK_TCK')
print(f"window {secs}s: cpu {(tot[0]+tot[1])/hz/secs*100:.0f}% of one core; vol switches/s {tot[2]/secs:.0f}, invol/s {tot[3]/secs:.0f}")
for c,g,x in rows[:14]:
    print(f"  {g:32s} user {x[0]/hz/secs*100:5.1f}% sys {x[1]/hz/secs*100:5.1f}%  vol/s {x[2]/secs:7.0f} invol/s {x[3]/secs:6.0f}")

import json,sys
d=sys.argv[1]
stalls=[(float(a),int(b),float(c)) for a,b,c in (l.split() for l in open(d+'/stalls.txt') if l.strip())]
recs=[json.loads(l) for l in open(d+'/dump.jsonl') if '"answer"' in l or '"input"' in l]
ans=[r for r in recs if r['type']=='answer' and r['endpoint']=='rendezvous']
last=ans[-200:]; ids={r['id'] for r in last}
inp={r['id']:r['at_micros']/1e6 for r in recs if r['type']=='input' and r['id'] in ids}
t0=min(inp.values()); t1=max(inp.values())
print('requests from %.3f to %.3f (%.1f s)'%(t0,t1,t1-t0))
for t,c,ms in stalls: print('  stall cpu%d %+.3f .. %+.3f s'%(c,t-t0,t-t0+ms/1000))
for r in last:
    if r['status']!=200: print('  %d input at %+.3f decided at %+.3f'%(r['status'],inp[r['id']]-t0, inp[r['id']]-t0+r['decided_micros']/1e6))

import json,sys
recs=[json.loads(l) for l in open(sys.argv[1]) if '"rendezvous"' in l and ('"answer"' in l or '"score"' in l or '"input"' in l)]
answers=[r for r in recs if r['type']=='answer' and r['endpoint']=='rendezvous']
last=answers[-200:]
ids={r['id'] for r in last}
scores={}
inputs={}
for r in recs:
    if r['id'] in ids:
        if r['type']=='score': scores.setdefault(r['id'],[]).append(r)
        if r['type']=='input': inputs[r['id']]=r['at_micros']
t0=min(inputs.values())
ds=sorted(r['decided_micros'] for r in last)
print("decided p50 %d p90 %d p99 %d max %d"%(ds[100],ds[180],ds[198],ds[-1]))
from collections import Counter
print(Counter(r['status'] for r in last), Counter(r.get('model') for r in last))
for r in last:
    if r['status']!=200 or r['decided_micros']>30000:
        print(r['status'], 'input at +%.1f ms'%((inputs[r['id']]-t0)/1000), 'decided', r['decided_micros'], 'stage', r.get('stage'), r.get('error'))
        for s in sorted(scores.get(r['id'],[]), key=lambda s:s['arrival_micros']):
            print('   ', s['model'], s['outcome'], 'arrival', s['arrival_micros'], 'inference', s['inference_micros'], 'journaled +%.1f'%((s['at_micros']-t0)/1000))

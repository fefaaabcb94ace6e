import json,sys
lo,hi=float(sys.argv[2]),float(sys.argv[3])
recs=[json.loads(l) for l in open(sys.argv[1]) if ('"answer"' in l or '"score"' in l or '"input"' in l)]
answers=[r for r in recs if r['type']=='answer' and r['endpoint']=='rendezvous']
ids={r['id'] for r in answers[-200:]}
inputs={r['id']:r['at_micros'] for r in recs if r['type']=='input' and r['id'] in ids}
t0=min(inputs.values())
for r in recs:
    if r['id'] not in ids: continue
    t=(r['at_micros']-t0)/1000
    if not (lo<=t<=hi): continue
    if r['type']=='input': print('%9.1f input %s'%(t, r['id'][-6:]))
    elif r['type']=='score': print('%9.1f   score %s %s arr %.1f inf %.2f  (start~%.1f)'%(t, r['id'][-6:], r['model'], r['arrival_micros']/1000, r['inference_micros']/1000, (inputs[r['id']]-t0)/1000 + r['arrival_micros']/1000 - r['inference_micros']/1000))
    else: print('%9.1f     answer %s %s %s dec %.1f'%(t, r['id'][-6:], r['status'], r.get('model'), r['decided_micros']/1000))

import json,sys,collections
ans={}; sc=collections.defaultdict(dict)
for line in open('/tmp/exp/soak-dump.jsonl'):
    if '"type":"answer"' in line:
        d=json.loads(line); ans[d['id']]=d
    elif '"type":"score"' in line:
        d=json.loads(line); sc[d['id']][d['model']]=(d['arrival_micros'],d['inference_micros'],d['outcome'],d['at_micros'])
bad=[i for i,a in ans.items() if a['status']!=200]
print('non-200 answers',len(bad), collections.Counter(ans[i]['status'] for i in bad))
bad.sort(key=lambda i: ans[i]['at_micros'])
t0=min(a['at_micros'] for a in ans.values())
for i in bad[:5]+bad[-3:]:
    print((ans[i]['at_micros']-t0)/1e6, ans[i]['status'], ans[i]['decided_micros'], {m:(v[0]//1000,v[1]//1000,v[2]) for m,v in sc[i].items()})
# time series per second around the episode: per model mean arrival, mean inference
ep=(ans[bad[len(bad)//2]]['at_micros']-t0)/1e6
print('episode around',ep)
bysec=collections.defaultdict(lambda: collections.defaultdict(list))
for i,a in ans.items():
    s=int((a['at_micros']-t0)/1e6)
    if abs(s-ep)<=12:
        for m,v in sc[i].items(): bysec[s][m].append(v)
        bysec[s]['n'].append(a['status'])
for s in sorted(bysec):
    row=bysec[s]; out=[f"{s:4d} n={len(row['n'])} non200={sum(1 for x in row['n'] if x!=200)}"]
    for m in ('m1','m2','m3'):
        v=row[m]
        if v:
            arr=sorted(x[0] for x in v); inf=sorted(x[1] for x in v)
            out.append(f"{m} arr p50 {arr[len(arr)//2]/1000:.1f} p99 {arr[int(len(arr)*.99)]/1000:.1f} inf p50 {inf[len(inf)//2]/1000:.2f} p99 {inf[int(len(inf)*.99)]/1000:.2f}")
    print(' | '.join(out))
print('---- episode 504s')
epb=[i for i in bad if abs((ans[i]['at_micros']-t0)/1e6-ep)<3]
for i in epb[::6]:
    print(f"{(ans[i]['at_micros']-t0)/1e6:.3f}", ans[i]['decided_micros']//1000, {m:(v[0]//1000,round(v[1]/1000,1),v[2]) for m,v in sorted(sc[i].items())})

import time,sys
end=time.monotonic()+float(sys.argv[1]); last=time.monotonic(); n=0; worst=0; lates=[]
while last<end:
    time.sleep(0.002); now=time.monotonic(); late=(now-last-0.002)*1000
    if late>30: lates.append(round(late))
    last=now
print("unpinned sleeper: wake-ups >30 ms late:", len(lates), sorted(lates)[-8:])

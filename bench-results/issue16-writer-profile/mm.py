import mmap,os,time,sys
p='/tmp/prof/mmtest.bin'
n=int(sys.argv[1])*1024*1024
if os.path.exists(p): os.remove(p)
fd=os.open(p,os.O_RDWR|os.O_CREAT); os.ftruncate(fd,n)
m=mmap.mmap(fd,n)
t=time.process_time(); t0=time.time()
for off in range(0,n,4096): m[off]=1
print(f"{n//4096} pages: {(time.process_time()-t)*1e6/(n//4096):.2f} us cpu/page, wall {(time.time()-t0)*1e6/(n//4096):.2f}")
m.close(); os.close(fd); os.remove(p)

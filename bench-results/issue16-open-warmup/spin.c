// Two threads spin on a fixed workload; every 100 ms, print how many units each thread completed.
// A steady machine gives steady counts; the spread shows how much CPU the host really gives.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <stdatomic.h>
static atomic_long counts[2];
static volatile int stop = 0;
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
static void* spin(void* a){long i=(long)a; volatile double x=1; while(!stop){for(int k=0;k<10000;k++) x=x*1.0000001+0.0000001; atomic_fetch_add(&counts[i],1);} return 0;}
int main(int c,char**v){int secs=c>1?atoi(v[1]):60; pthread_t t[2]; for(long i=0;i<2;i++) pthread_create(&t[i],0,spin,(void*)i);
 double start=now(); long last=0; double next=start+0.1;
 while(now()<start+secs){ struct timespec s={0,1000000}; while(now()<next) nanosleep(&s,0); long tot=atomic_load(&counts[0])+atomic_load(&counts[1]); printf("%.1f %ld\n", next-start, tot-last); fflush(stdout); last=tot; next+=0.1;}
 stop=1; for(int i=0;i<2;i++) pthread_join(t[i],0); return 0;}

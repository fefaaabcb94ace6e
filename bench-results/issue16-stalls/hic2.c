#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double secs;
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
static double tcpu(){struct timespec t;clock_gettime(CLOCK_THREAD_CPUTIME_ID,&t);return t.tv_sec+t.tv_nsec/1e9;}
void* run(void* a){ long cpu=(long)a; cpu_set_t s; CPU_ZERO(&s); CPU_SET(cpu,&s); pthread_setaffinity_np(pthread_self(),sizeof s,&s);
 double start=now(), c0=tcpu(), last=start, frozen=0; int n=0;
 while(1){ double t=now(); double g=t-last; last=t; if(t-start>secs) break; if(g>0.02){frozen+=g;n++;} }
 printf("cpu%ld wall %.3f s, thread cpu %.3f s, %d gaps over 20 ms summing %.3f s\n",cpu,now()-start,tcpu()-c0,n,frozen); return 0;}
int main(int c,char**v){ secs=atof(v[1]); pthread_t t[2]; for(long i=0;i<2;i++) pthread_create(&t[i],0,run,(void*)i); for(int i=0;i<2;i++) pthread_join(t[i],0); }

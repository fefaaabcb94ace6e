#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double secs; 
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
void* run(void* a){ long cpu=(long)a; cpu_set_t s; CPU_ZERO(&s); CPU_SET(cpu,&s); pthread_setaffinity_np(pthread_self(),sizeof s,&s);
 double start=now(), last=start; int hist[6]={0}; double maxg=0;
 while(1){ double t=now(); double g=t-last; last=t; if(t-start>secs) break;
  if(g>0.002){ int b = g<0.005?0: g<0.02?1: g<0.05?2: g<0.09?3: g<0.15?4:5; hist[b]++; if(g>maxg)maxg=g; if(g>0.05) printf("cpu%ld gap %.1f ms at %.3f s\n",cpu,g*1000,t-start);} }
 printf("cpu%ld gaps 2-5ms %d, 5-20 %d, 20-50 %d, 50-90 %d, 90-150 %d, >150 %d; max %.1f ms\n",cpu,hist[0],hist[1],hist[2],hist[3],hist[4],hist[5],maxg*1000); return 0;}
int main(int c,char**v){ secs=atof(v[1]); pthread_t t[2]; for(long i=0;i<2;i++) pthread_create(&t[i],0,run,(void*)i); for(int i=0;i<2;i++) pthread_join(t[i],0); }

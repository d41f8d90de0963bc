#!/bin/sh
#BSUB -J "sims[1-30]"
#BSUB -o /home/me/logs/mirai.%J.%I.log
#BSUB -q normal
#BSUB -P lab
#BSUB -W 1:31
#BSUB -M 2048MB
#BSUB -R "rusage[mem=2048MB]"
#BSUB -n 2
#BSUB -gpu "num=1"
#BSUB -R "span[hosts=1]"
#BSUB -x
# When the job started: the daemon counts its time limit (--allocation) from here.
MIRAI_JOB_START=$(date +%s) && export MIRAI_JOB_START
cd '/home/me/my project' || exit 1
export OMP_NUM_THREADS=1
export NOTE='it'\''s $(not) run'
module load gcc/12
source ~/env.sh
/opt/mirai/bin/mirai daemon tcp://10.0.0.1:5555 --idletime 5m --walltime 55m --maxtasks 100 --join-timeout 10m --allocation 5430s
code=$?
echo finished
# 0: the dispatcher closed the connection; 1, 2, 3: idletime, walltime or maxtasks reached.
case $code in 0|1|2|3) exit 0 ;; *) exit $code ;; esac

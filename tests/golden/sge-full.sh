#!/bin/sh
#$ -N sims
#$ -t 1-16
#$ -S /bin/sh
#$ -cwd
#$ -o logs/$JOB_NAME.$JOB_ID.$TASK_ID.log
#$ -j y
#$ -q all.q@node1,long.q
#$ -P lab
#$ -l h_rt=25:01:01
#$ -l h_vmem=2048M
#$ -pe smp 4
#$ -l gpu=1
#$ -m n
# When the job started: the daemon counts its time limit (--allocation) from here.
MIRAI_JOB_START=$(date +%s) && export MIRAI_JOB_START
cd '/home/me/my project' || exit 1
export OMP_NUM_THREADS=1
export NOTE='it'\''s $(not) run'
module load gcc/12
source ~/env.sh
/opt/mirai/bin/mirai daemon tcp://10.0.0.1:5555 --idletime 5m --walltime 55m --maxtasks 100 --join-timeout 10m --allocation 90061s
code=$?
echo finished
# 0: the dispatcher closed the connection; 1, 2, 3: idletime, walltime or maxtasks reached.
case $code in 0|1|2|3) exit 0 ;; *) exit $code ;; esac

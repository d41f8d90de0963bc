#!/bin/sh
#PBS -N sims
#PBS -J 1-12
#PBS -S /bin/sh
#PBS -o /home/me/logs/mirai.^array_index^.log
#PBS -j oe
#PBS -q workq
#PBS -A lab
#PBS -l walltime=02:00:00
#PBS -l select=1:ncpus=2:mem=4096mb:ngpus=1
#PBS -l place=scatter
#PBS -m n
# When the job started: the daemon counts its time limit (--allocation) from here.
MIRAI_JOB_START=$(date +%s) && export MIRAI_JOB_START
cd '/home/me/my project' || exit 1
export OMP_NUM_THREADS=1
export NOTE='it'\''s $(not) run'
module load gcc/12
source ~/env.sh
/opt/mirai/bin/mirai daemon tcp://10.0.0.1:5555 --idletime 5m --walltime 55m --maxtasks 100 --join-timeout 10m --allocation 2h
code=$?
echo finished
# 0: the dispatcher closed the connection; 1, 2, 3: idletime, walltime or maxtasks reached.
case $code in 0|1|2|3) exit 0 ;; *) exit $code ;; esac

#!/bin/sh
#SBATCH --job-name=mirai-p
#SBATCH --array=1-1
#SBATCH --output=/dev/null
#SBATCH --error=/dev/null
# When the job started: the daemon counts its time limit (--allocation) from here.
MIRAI_JOB_START=$(date +%s) && export MIRAI_JOB_START
cd /w || exit 1
/usr/bin/mirai daemon tcp://127.0.0.1:4000 --join-timeout 10m
code=$?
# 0: the dispatcher closed the connection; 1, 2, 3: idletime, walltime or maxtasks reached.
case $code in 0|1|2|3) exit 0 ;; *) exit $code ;; esac

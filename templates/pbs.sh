#!/bin/sh
#PBS -N {{ job_name }}
#PBS -J {{ pro_array }}
#PBS -t {{ torque_array }}
#PBS -S /bin/sh
#PBS -o {{ log | /dev/null }}
#PBS -j oe
#PBS -q {{ queue }}
#PBS -A {{ account }}
#PBS -l walltime={{ time }}
#PBS -l {{ resources }}
{{ directives }}
# When the job started: the daemon counts its time limit (--allocation) from here.
MIRAI_JOB_START=$(date +%s) && export MIRAI_JOB_START
cd {{ workdir }} || exit 1
{{ env }}
{{ prologue }}
{{ daemon }}
code=$?
{{ epilogue }}
# 0: the dispatcher closed the connection; 1, 2, 3: idletime, walltime or maxtasks reached.
case $code in 0|1|2|3) exit 0 ;; *) exit $code ;; esac

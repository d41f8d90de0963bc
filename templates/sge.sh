#!/bin/sh
#$ -N {{ job_name }}
#$ -t {{ array }}
#$ -S /bin/sh
#$ -cwd
#$ -o {{ log | /dev/null }}
#$ -j y
#$ -q {{ queue }}
#$ -P {{ project }}
#$ -l h_rt={{ time }}
#$ -l h_vmem={{ mem }}
#$ -pe {{ pe }} {{ slots }}
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

#!/bin/sh
#BSUB -J "{{ job_array }}"
#BSUB -o {{ log | /dev/null }}
#BSUB -q {{ queue }}
#BSUB -P {{ project }}
#BSUB -W {{ time }}
#BSUB -M {{ mem }}
#BSUB -R "rusage[mem={{ mem }}]"
#BSUB -n {{ cpus }}
#BSUB -gpu "num={{ gpus }}"
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

#!/bin/sh
#SBATCH --job-name={{ job_name }}
#SBATCH --array={{ array }}
#SBATCH --output={{ log | /dev/null }}
#SBATCH --error={{ log | /dev/null }}
#SBATCH --partition={{ partition }}
#SBATCH --account={{ account }}
#SBATCH --qos={{ qos }}
#SBATCH --time={{ time }}
#SBATCH --mem={{ mem }}
#SBATCH --mem-per-cpu={{ mem_per_cpu }}
#SBATCH --mem-per-gpu={{ mem_per_gpu }}
#SBATCH --cpus-per-task={{ cpus_per_task }}
#SBATCH --gpus={{ gpus }}
#SBATCH --constraint={{ constraint }}
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

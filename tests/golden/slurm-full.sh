#!/bin/sh
#SBATCH --job-name=sims
#SBATCH --array=1-200
#SBATCH --output=/home/me/logs/%A_%a.log
#SBATCH --error=/home/me/logs/%A_%a.log
#SBATCH --partition=short
#SBATCH --account=lab
#SBATCH --qos=normal
#SBATCH --time=00:55:00
#SBATCH --mem=4096M
#SBATCH --cpus-per-task=2
#SBATCH --gpus=a100:1
#SBATCH --constraint=ib&avx2
#SBATCH --exclusive
#SBATCH --mail-type=NONE
# When the job started: the daemon counts its time limit (--allocation) from here.
MIRAI_JOB_START=$(date +%s) && export MIRAI_JOB_START
cd '/home/me/my project' || exit 1
export OMP_NUM_THREADS=1
export NOTE='it'\''s $(not) run'
module load gcc/12
source ~/env.sh
/opt/mirai/bin/mirai daemon tcp://10.0.0.1:5555 --idletime 5m --walltime 55m --maxtasks 100 --join-timeout 10m --allocation 55m
code=$?
echo finished
# 0: the dispatcher closed the connection; 1, 2, 3: idletime, walltime or maxtasks reached.
case $code in 0|1|2|3) exit 0 ;; *) exit $code ;; esac

#include "launcher/backend.hpp"
#include "schedulers/local/local.hpp"
#include "schedulers/lsf/lsf.hpp"
#include "schedulers/pbs/pbs.hpp"
#include "schedulers/sge/sge.hpp"
#include "schedulers/slurm/slurm.hpp"
#include "schedulers/ssh/ssh.hpp"

namespace mirai::launcher {

std::unique_ptr<Backend> make_backend(const ProfileConfig& profile) {
  const std::string& launcher = profile.launcher;
  if (launcher == "local") return local::make();
  if (launcher == "ssh") return ssh::make();
  if (launcher == "slurm") return slurm::make();
  if (launcher == "sge") return sge::make();
  if (launcher == "pbs") return pbs::make(profile);
  if (launcher == "lsf") return lsf::make();
  return nullptr;
}

}  // namespace mirai::launcher

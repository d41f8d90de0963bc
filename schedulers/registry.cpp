#include "launcher/backend.hpp"
#include "schedulers/sge/sge.hpp"
#include "schedulers/slurm/slurm.hpp"

namespace mirai::launcher {

std::unique_ptr<Backend> make_backend(const std::string& launcher) {
  if (launcher == "slurm") return slurm::make();
  if (launcher == "sge") return sge::make();
  return nullptr;
}

}  // namespace mirai::launcher

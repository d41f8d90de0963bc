#include "launcher/backend.hpp"
#include "schedulers/slurm/slurm.hpp"

namespace mirai::launcher {

std::unique_ptr<Backend> make_backend(const std::string& launcher) {
  if (launcher == "slurm") return slurm::make();
  return nullptr;
}

}  // namespace mirai::launcher

// local: templates/shell.sh run by /bin/sh on this machine starts the daemons; that shell is
// the job. Used by `mirai launch` and `mirai render`; `mirai map` and `mirai run` start local
// daemons through the client library instead.
#pragma once

#include <memory>

#include "launcher/backend.hpp"

namespace mirai::launcher::local {

std::unique_ptr<Backend> make();

}  // namespace mirai::launcher::local

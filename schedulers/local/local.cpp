#include "schedulers/local/local.hpp"

#include "launcher/process_jobs.hpp"
#include "launcher/registry.hpp"

namespace mirai::launcher::local {

namespace {

class Local : public Backend {
 public:
  Expected<std::vector<Submission>> render(const LaunchSpec& spec) const override {
    Submission s;
    s.first = 1;
    s.last = spec.n;
    s.id = spec.batch > 1 ? "local-" + std::to_string(spec.batch) : "local";
    auto script = render_shell_script(spec, 1, spec.n, s.id, spec.url);
    if (!script) return script.status();
    s.script = std::move(*script);
    s.argv = {"/bin/sh", "-c", s.script};
    s.script_in_argv = true;
    s.attached = spec.attached;
    s.input = spec.secret + "\n";
    return std::vector<Submission>{std::move(s)};
  }

  Expected<Submitted> submit(const Submission& s) override {
    if (Status st = jobs_.start(s.id, s.argv, s.attached, s.log_file, s.input); !st) return st;
    return Submitted{{s.id}, "started; the shell's output goes to " + s.log_file + "\n"};
  }

  Expected<std::vector<JobStatus>> status(const std::vector<std::string>& ids) override {
    return jobs_.status(ids, "sh");
  }

  Status cancel(const std::vector<std::string>& ids) override {
    return jobs_.cancel(ids, std::chrono::seconds(2));
  }

 private:
  ProcessJobs jobs_;
};

}  // namespace

std::unique_ptr<Backend> make() { return std::make_unique<Local>(); }

namespace {

// Registered by name before main(); nothing outside this directory names it.
const bool kRegistered = register_backend([] {
  BackendKind k;
  k.name = "local";
  k.job_scripts = false;
  k.in_process = true;
  k.default_url = [](const ProfileConfig&) { return std::string(); };  // a private ipc socket
  k.make = [](const ProfileConfig&) { return make(); };
  return k;
}());

}  // namespace

}  // namespace mirai::launcher::local

# frozen_string_literal: true

# The procmon gem: the Ruby binding of libprocmon. Build and install it with
#   gem build procmon.gemspec && gem install --local procmon-*.gem
# It needs the library itself, libprocmon.so.0, installed where the system's
# loader finds it (cmake --install of the procmon build), or PROCMON_LIB.
require_relative "lib/procmon/version"

Gem::Specification.new do |spec|
  spec.name = "procmon"
  spec.version = Procmon::VERSION
  spec.summary = "Supervise child processes (Twisted's ProcessMonitor) with libprocmon"
  spec.description = <<~TEXT
    A Ruby binding of libprocmon, made with the ffi gem: supervise named child
    processes, restart them with a doubling backoff, stop them with TERM then
    KILL, and get their output lines and lifecycle events as blocks.
  TEXT
  spec.authors = ["procmon developers"]
  spec.license = "MIT"
  spec.files = Dir.chdir(__dir__) { Dir["lib/**/*.rb", "examples/*.rb", "README.md"].sort }
  spec.require_paths = ["lib"]
  spec.required_ruby_version = ">= 3.0"
  spec.add_dependency "ffi", "~> 1.15"
  spec.requirements << "libprocmon.so.#{Procmon::VERSION.split('.').first} " \
                       "(the procmon library, installed with cmake --install)"
end

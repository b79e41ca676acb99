# frozen_string_literal: true

require_relative "test_helper"
require "rubygems"

# The gem's version is the library's, and the gemspec is complete.
class VersionTest < Minitest::Test
  ROOT = File.expand_path("../../..", __dir__)

  def cargo_version
    File.read(File.join(ROOT, "Cargo.toml"))[/^version = "([^"]+)"$/, 1]
  end

  def test_the_gem_has_the_library_version
    assert_equal cargo_version, Procmon::VERSION, "lib/procmon/version.rb is not Cargo.toml's version"
    assert_equal Procmon::VERSION, Procmon.version, "the loaded library is another version"
  end

  def test_the_gemspec
    spec = Dir.chdir(File.expand_path("..", __dir__)) { Gem::Specification.load("procmon.gemspec") }
    refute_nil spec, "procmon.gemspec does not load"
    assert_equal "procmon", spec.name
    assert_equal Gem::Version.new(Procmon::VERSION), spec.version
    assert_equal ["ffi"], spec.runtime_dependencies.map(&:name)
    assert spec.required_ruby_version.satisfied_by?(Gem::Version.new(RUBY_VERSION))
    %w[lib/procmon.rb lib/procmon/native.rb lib/procmon/monitor.rb lib/procmon/version.rb
       examples/hello.rb README.md].each do |f|
      assert_includes spec.files, f
    end
    assert spec.files.none? { |f| f.start_with?("test/") }, "the gem ships the tests"
  end

  def test_the_soname
    assert_equal "libprocmon.so.#{Procmon::VERSION.split('.').first}", Procmon::Native::SONAME
  end
end

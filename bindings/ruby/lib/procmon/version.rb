# frozen_string_literal: true

module Procmon
  # The version of the gem: the library's own (Cargo.toml's `version`), so that
  # gem and library are released together. test/version_test.rb and
  # packaging/check-version.sh fail when the two disagree.
  VERSION = "0.2.0"
end

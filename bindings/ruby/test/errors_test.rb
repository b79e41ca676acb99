# frozen_string_literal: true

require_relative "test_helper"

class ErrorsTest < Minitest::Test
  include ProcmonTest

  def test_hierarchy
    [Procmon::InvalidError, Procmon::ExistsError, Procmon::NotFoundError, Procmon::StateError,
     Procmon::SystemError, Procmon::InternalError, Procmon::CallbackError].each do |klass|
      assert_operator klass, :<, Procmon::Error
    end
    assert_operator Procmon::Error, :<, StandardError
    refute_operator Procmon::SystemError, :<=, ::SystemCallError
  end

  def test_codes_and_messages
    m = monitor
    m.add_process("one", ["sleep", "60"])

    e = assert_raises(Procmon::ExistsError) { m.add_process("one", ["true"]) }
    assert_equal(-2, e.code)
    assert_includes e.message, '"one"'
    assert_equal e.message, e.detail

    e = assert_raises(Procmon::NotFoundError) { m.stop_process("nope") }
    assert_equal(-3, e.code)
    assert_includes e.message, '"nope"'

    e = assert_raises(Procmon::InvalidError) { m.add_process("", ["true"]) }
    assert_equal(-1, e.code)
    assert_includes e.message, "empty"

    e = assert_raises(Procmon::InvalidError) { m.add_process("two", ["true"], cwd: "") }
    assert_equal(-1, e.code)

    e = assert_raises(Procmon::InvalidError) { m.threshold = -1 }
    assert_includes e.message, "threshold"

    assert_raises(ArgumentError) { m.add_process("a\0b", ["true"]) }
    assert_raises(TypeError) { m.pid(42) }
    assert_raises(ArgumentError) { m.add_process("three", ["true"], env: { "A=B" => "c" }) }
  end

  def test_last_error_is_read_on_the_failing_thread
    m = monitor
    # Each thread fails differently at the same time: each must see its own detail.
    threads = Array.new(4) do |i|
      Thread.new do
        Array.new(50) do
          m.remove_process("missing-#{i}")
        rescue Procmon::NotFoundError => e
          e.message
        end
      end
    end
    threads.each_with_index do |t, i|
      assert_equal ["unrecognized process name: \"missing-#{i}\""], t.value.uniq
    end
  end

  def test_closed_monitor_raises_state_error
    m = monitor
    m.close
    e = assert_raises(Procmon::StateError) { m.pid("x") }
    assert_equal(-4, e.code)
    assert_raises(Procmon::StateError) { m.on_line { nil } }
    assert_raises(Procmon::StateError) { m.add_process("x", ["true"]) }
    assert_equal "#<Procmon::Monitor <ProcessMonitor (closed)>>", m.inspect
  end

  def test_strerror
    refute_empty Procmon.strerror(-3)
    refute_empty Procmon.strerror(12_345)
  end
end

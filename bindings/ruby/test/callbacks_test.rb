# frozen_string_literal: true

require_relative "test_helper"

class CallbacksTest < Minitest::Test
  include ProcmonTest

  def test_callbacks_run_on_another_ruby_thread
    m = monitor
    threads = Queue.new
    m.on_line { |*| threads << Thread.current }
    m.add_process("t", ["sh", "-c", "echo x; exec sleep 60"])
    refute_same Thread.current, pop(threads)
  end

  def test_raising_line_callback_is_reraised_from_the_next_call
    m = monitor(threshold: 100, min_restart_delay: 60)
    lines = []
    exited = false
    m.on_line do |_n, _s, line|
      raise ArgumentError, "first #{line}" if line.start_with?("boom")
      lines << line
    end
    m.on_event { |e| exited = true if e.kind == :exited }
    m.add_process("b", ["sh", "-c", "echo before; echo boom1; echo boom2; echo after"])
    wait_for("EXITED") { exited }
    assert_equal %w[before after], lines, "lines after the exception must still be delivered"
    error = assert_raises(Procmon::CallbackError) { m.pid("b") }
    assert_equal :line, error.callback
    assert_instance_of ArgumentError, error.cause
    assert_equal "first boom1", error.cause.message, "the first exception is the one kept"
    assert_includes error.message, "first boom1"
    assert_nil error.code
    # Reported once: the monitor works again.
    assert_equal :backoff, m.info("b").state
  end

  def test_raising_event_callback_is_reraised_from_close
    m = monitor
    m.on_event { |e| raise "bad event #{e.kind}" if e.kind == :exited }
    m.add_process("s", ["sleep", "60"])
    pid = m.pid("s")
    error = assert_raises(Procmon::CallbackError) { m.close }
    assert_equal :event, error.callback
    assert_equal "bad event exited", error.cause.message
    assert m.closed?
    assert_raises(Errno::ESRCH) { Process.kill(0, pid) }
    m.close # nothing pending any more
  end

  def test_callback_calls_back_into_the_api
    m = monitor(threshold: 100, min_restart_delay: 60)
    lines = Queue.new
    events = Queue.new
    seen = Queue.new
    m.on_line { |name, _s, line| lines << [name, line] }
    m.on_event do |e|
      events << e
      next unless e.kind == :started && e.name == "first"

      seen << [e.pid, m.pid(e.name), m.info(e.name).state, m.describe]
      # Blocking calls (a spawn, a stop, a setting) from inside a callback.
      m.add_process("second", ["sh", "-c", "echo from second"])
      m.stop_process(e.name)
      m.threshold = 50
    end
    m.add_process("first", ["sleep", "60"])
    event_pid, api_pid, state, description = pop(seen)
    assert_equal event_pid, api_pid
    assert_equal :running, state
    assert_includes description, "'first'"
    assert_equal ["second", "from second"], pop(lines)
    exited = nil
    exited = pop(events) until exited&.kind == :exited && exited.name == "first"
    assert_equal Signal.list["TERM"], exited.signal
    assert_equal 50.0, m.threshold
  end

  def test_handler_replaced_from_inside_a_callback
    m = monitor(threshold: 100, min_restart_delay: 60)
    first = []
    second = []
    exited = false
    m.on_event { |e| exited = true if e.kind == :exited }
    m.on_line do |_n, _s, line|
      first << line
      m.on_line { |_n2, _s2, l| second << l }
    end
    m.add_process("r", ["sh", "-c", "for i in 1 2 3 4 5; do echo $i; done"])
    wait_for("EXITED") { exited }
    assert_equal ["1"], first
    assert_equal %w[2 3 4 5], second
  end

  def test_handler_replaced_outside_waits_for_the_call_in_progress
    m = monitor
    entered = Queue.new
    gate = Queue.new
    finished = false
    m.on_line do |*|
      next if finished

      entered << true
      gate.pop
      finished = true
    end
    m.add_process("w", ["sh", "-c", "echo x; exec sleep 60"])
    pop(entered)
    replacer = Thread.new do
      m.on_line { |*| nil }
      finished # what was true when on_line returned
    end
    begin
      wait_for("the replacer to block") { replacer.status == "sleep" || !replacer.alive? }
    ensure
      gate << true
    end
    assert replacer.value, "on_line returned while the previous block was still running"
  end

  def test_close_from_inside_a_callback
    m = monitor
    calls = 0
    pid = nil
    closed_in_callback = nil
    m.on_event { |e| pid ||= e.pid if e.kind == :started }
    m.on_line do |_n, _s, _line|
      calls += 1
      m.close
      closed_in_callback = m.closed?
    end
    m.add_process("c", ["sh", "-c", "echo 1; echo 2; echo 3; exec sleep 60"])
    wait_for("the close") { closed_in_callback }
    assert pid
    wait_for("the child reaped") { gone?(pid) }
    Procmon::Monitor.close_all # joins the background close
    assert_raises(Errno::ESRCH) { Process.kill(0, pid) }
    assert_equal 1, calls, "no callback may run after the one that closed"
  end
end

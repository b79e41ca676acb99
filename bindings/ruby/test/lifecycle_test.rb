# frozen_string_literal: true

require_relative "test_helper"

class LifecycleTest < Minitest::Test
  include ProcmonTest

  def test_close_leaves_no_child_behind
    m = monitor(kill_time: 0.3)
    rec = ProcmonTest::Recorder.new(m)
    m.add_process("a", ["sleep", "60"])
    m.add_process("b", ["sh", "-c", "exec sleep 60"])
    m.add_process("deaf", ["sh", "-c", 'trap "" TERM; echo ready; exec sleep 60'])
    wait_for("ready") { rec.lines("deaf").include?("ready") }
    pids = %w[a b deaf].map { |name| m.pid(name) }
    assert pids.all?
    m.close
    assert m.closed?
    pids.each { |pid| assert_raises(Errno::ESRCH, "pid #{pid} still exists") { Process.kill(0, pid) } }
    # The events of the shutdown ran (Ruby code, during procmon_free) before close returned.
    assert_equal %w[a b deaf], rec.events(nil, :exited).map(&:name).sort
    assert_equal ["deaf"], rec.events(nil, :killed).map(&:name)
    m.close # idempotent
  end

  def test_close_during_a_flood_of_output
    m = monitor
    count = 0
    bad = []
    m.on_line do |_name, _stream, line|
      count += 1
      bad << line unless line == "y" || line == "flood"
    end
    m.add_process("yes", ["yes"])
    m.add_process("loop", ["sh", "-c", "while :; do echo flood; done"])
    pids = [m.pid("yes"), m.pid("loop")]
    wait_for("a flood") { count > 2000 }
    started = now
    m.close
    assert_operator now - started, :<, 5.0
    seen = count
    pids.each { |pid| assert_raises(Errno::ESRCH) { Process.kill(0, pid) } }
    assert_empty bad
    assert_equal seen, count, "a line callback ran after close returned"
  end

  def test_close_with_drain_delivers_the_last_lines
    m = monitor
    rec = ProcmonTest::Recorder.new(m)
    script = 'trap \'kill $!; i=1; while [ $i -le 300 ]; do echo "bye $i"; i=$((i+1)); done; exit 0\' TERM; ' \
             'echo ready; sleep 60 >/dev/null 2>&1 & wait'
    m.add_process("polite", ["sh", "-c", script])
    wait_for("ready") { rec.lines("polite") == ["ready"] }
    m.close(drain: true)
    assert_equal ["ready"] + (1..300).map { |i| "bye #{i}" }, rec.lines("polite")
    assert_equal 0, rec.events("polite", :exited).first.exit_code
  end

  def test_open_closes_at_the_end_of_the_block
    inside = nil
    pid = nil
    result = Procmon::Monitor.open(kill_time: 0.5) do |m|
      inside = m
      m.add_process("s", ["sleep", "60"])
      pid = m.pid("s")
      :value
    end
    assert_equal :value, result
    assert inside.closed?
    assert_raises(Errno::ESRCH) { Process.kill(0, pid) }
  end

  def test_open_closes_on_exception
    inside = nil
    pid = nil
    error = assert_raises(RuntimeError) do
      Procmon::Monitor.open do |m|
        inside = m
        m.add_process("s", ["sleep", "60"])
        pid = m.pid("s")
        raise "from the block"
      end
    end
    assert_equal "from the block", error.message
    assert inside.closed?
    assert_raises(Errno::ESRCH) { Process.kill(0, pid) }
  end

  def test_unreferenced_monitor_survives_gc
    lines = Queue.new
    # No reference is kept: the binding must keep the monitor and its
    # trampolines alive until it is closed.
    Procmon::Monitor.new.on_line { |_n, _s, line| lines << line }
                        .add_process("gc", ["sh", "-c", 'echo one; read x </dev/null; echo two; exec sleep 60'])
    3.times { GC.start(full_mark: true, immediate_sweep: true) }
    got = wait_for("two lines") { lines.size >= 2 && [lines.pop, lines.pop] }
    assert_equal %w[one two], got
    Procmon::Monitor.close_all
    assert_equal 0, ObjectSpace.each_object(Procmon::Monitor).count { |m| !m.closed? }
  end
end

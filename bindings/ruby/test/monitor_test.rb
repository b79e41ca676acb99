# frozen_string_literal: true

require_relative "test_helper"

class MonitorTest < Minitest::Test
  include ProcmonTest

  def test_version
    assert_match(/\A\d+\.\d+\.\d+\z/, Procmon.version)
  end

  def test_lines_arrive_in_order_and_complete
    m = monitor(threshold: 100, min_restart_delay: 60)
    rec = ProcmonTest::Recorder.new(m)
    script = 'i=1; while [ $i -le 3000 ]; do echo "line $i"; i=$((i+1)); done; ' \
             'echo oops >&2; printf "cr\r\n\nno newline"'
    m.add_process("counter", ["sh", "-c", script])
    # RESTART_SCHEDULED comes after EXITED, which comes after the run's lines.
    wait_for("RESTART_SCHEDULED") { rec.events("counter", :restart_scheduled).first }
    expected = (1..3000).map { |i| "line #{i}" } + ["cr\r", "", "no newline"]
    lines = rec.lines("counter")
    assert_equal expected, lines
    assert lines.all? { |l| l.encoding == Encoding::BINARY }
    assert_equal ["oops"], rec.lines("counter", :stderr)
    assert_equal %i[started exited restart_scheduled], rec.events("counter").map(&:kind)
    assert_equal 0, rec.events("counter", :exited).first.exit_code
  end

  def test_binary_lines
    m = monitor(threshold: 100, min_restart_delay: 60)
    rec = ProcmonTest::Recorder.new(m)
    m.add_process("bin", [RbConfig.ruby, "-e", 'STDOUT.binmode; STDOUT.write("\xFF\x00z\n\xC3(\n")'])
    wait_for("EXITED") { rec.events("bin", :exited).first }
    assert_equal ["\xFF\x00z".b, "\xC3(".b], rec.lines("bin")
  end

  def test_restart_with_backoff
    m = monitor(threshold: 10, min_restart_delay: 0.05, max_restart_delay: 0.2)
    rec = ProcmonTest::Recorder.new(m)
    m.add_process("crasher", ["sh", "-c", "exit 3"])
    wait_for("5 restarts") { rec.events("crasher", :restart_scheduled).size >= 5 }
    delays = rec.events("crasher", :restart_scheduled).first(5).map(&:delay)
    [0.05, 0.1, 0.2, 0.2, 0.2].zip(delays) { |want, got| assert_in_delta want, got, 1e-9 }
    exits = rec.events("crasher", :exited)
    assert exits.all? { |e| e.exit_code == 3 && e.signal.nil? && e.uptime >= 0 }
    # Each run: STARTED, EXITED, RESTART_SCHEDULED.
    kinds = rec.events("crasher").first(9).map(&:kind)
    assert_equal %i[started exited restart_scheduled] * 3, kinds
    info = m.info("crasher")
    assert_operator info.starts, :>=, 5
    assert_in_delta 0.2, info.restart_delay, 1e-9
    assert_equal 3, info.last_exit_code
    m.stop
    wait_for("stopped") { m.info("crasher").state == :stopped }
    assert_nil m.pid("crasher")
  end

  def test_stop_process_restarts_and_service_stop_start
    m = monitor
    rec = ProcmonTest::Recorder.new(m)
    m.add_process("sleeper", ["sleep", "60"])
    first = m.pid("sleeper")
    assert_kind_of Integer, first
    assert_equal first, wait_for("STARTED") { rec.events("sleeper", :started).first }.pid
    m.stop_process("sleeper")
    exited = wait_for("EXITED") { rec.events("sleeper", :exited).first }
    assert_equal Signal.list["TERM"], exited.signal
    assert_nil exited.exit_code
    second = wait_for("a restart") { rec.events("sleeper", :started)[1] }.pid
    refute_equal first, second
    assert_equal :running, m.info("sleeper").state

    m.stop
    wait_for("the service stopped") { m.pid("sleeper").nil? }
    assert gone?(second)
    m.add_process("later", ["sleep", "60"])
    assert_nil m.pid("later"), "add_process while stopped must not spawn"
    assert_equal :stopped, m.info("later").state
    m.start
    assert m.pid("sleeper")
    assert m.pid("later")
    m.start_process("later") # a no-op when running
    m.restart_all
    wait_for("both restarted") { rec.events(nil, :started).size >= 5 }
  end

  def test_kill_after_kill_time_and_remove
    m = monitor(kill_time: 0.2)
    rec = ProcmonTest::Recorder.new(m)
    m.add_process("stubborn", ["sh", "-c", 'trap "" TERM; echo ready; exec sleep 60'])
    wait_for("ready") { rec.lines("stubborn") == ["ready"] }
    pid = m.pid("stubborn")
    m.remove_process("stubborn")
    assert_raises(Procmon::NotFoundError) { m.pid("stubborn") }
    killed = wait_for("KILLED") { rec.events("stubborn", :killed).first }
    assert_equal pid, killed.pid
    exited = wait_for("EXITED") { rec.events("stubborn", :exited).first }
    assert_equal Signal.list["KILL"], exited.signal
    assert gone?(pid)
    assert_empty rec.events("stubborn", :restart_scheduled)
  end

  def test_spawn_failure_is_an_event
    m = monitor(threshold: 10, min_restart_delay: 60)
    rec = ProcmonTest::Recorder.new(m)
    m.add_process("ghost", ["/nonexistent/program"])
    failed = wait_for("SPAWN_FAILED") { rec.events("ghost", :spawn_failed).first }
    assert_equal Errno::ENOENT::Errno, failed.error
    assert_nil failed.pid
    wait_for("RESTART_SCHEDULED") { rec.events("ghost", :restart_scheduled).first }
    assert_empty rec.events("ghost", :started)
  end

  def test_env_cwd_and_describe
    m = monitor(threshold: 100, min_restart_delay: 60)
    rec = ProcmonTest::Recorder.new(m)
    m.add_process("env", ["sh", "-c", 'echo "$FOO|${HOME-unset}|$(pwd)"'], env: { "FOO" => "bar" }, cwd: "/")
    m.add_process("ids", ["sleep", "60"], uid: Process.uid, gid: Process.gid)
    wait_for("a line") { rec.lines("env").first }
    assert_equal ["bar|unset|/"], rec.lines("env")
    assert_equal "<ProcessMonitor 'env': ['sh', '-c', 'echo \"$FOO|${HOME-unset}|$(pwd)\"'] " \
                 "'ids'(#{Process.uid}:#{Process.gid}): ['sleep', '60']>", m.describe
    assert_equal m.describe, m.to_s
    assert_includes m.inspect, "#<Procmon::Monitor <ProcessMonitor 'env'"
  end

  def test_settings
    m = monitor
    assert_equal 0.5, m.kill_time
    m.threshold = 2
    assert_equal 2.0, m.threshold
    assert_raises(Procmon::InvalidError) { m.max_restart_delay = Float::NAN }
    assert_equal 3600.0, m.max_restart_delay
    assert_raises(ArgumentError) { Procmon::Monitor.new(bogus: 1) }
  end
end

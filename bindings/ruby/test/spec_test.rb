# frozen_string_literal: true

require_relative "test_helper"

# The spec's keywords (Monitor#add, add_process), signal_process, the cgroup
# root and the 0.2 event fields, on real processes.
class SpecTest < Minitest::Test
  include ProcmonTest

  LOOP = "while :; do sleep 0.05; done"
  FAST = { kill_time: 2, restart_delays: [0.01, 0.05] }.freeze

  def sh(script)
    ["sh", "-c", script]
  end

  def wait_line(rec, name, want)
    wait_for("#{name} printing #{want.inspect}") { rec.lines(name).include?(want) }
  end

  def exited(rec, name, count = 1)
    wait_for("#{name}'s EXITED") { rec.events(name, :exited)[count - 1] }
  end

  def test_on_failure_leaves_a_successful_one_shot_stopped
    m = monitor
    rec = ProcmonTest::Recorder.new(m)
    before = Time.now
    m.add("job", sh("exit 0"), restart: :on_failure, **FAST)
    m.add("three", sh("exit 3"), restart: :on_failure, success_exit_codes: [0, 3], **FAST)
    m.add("bad", sh("exit 1"), restart: :on_failure, **FAST)
    { "job" => 0, "three" => 3 }.each do |name, code|
      event = exited(rec, name)
      assert_equal code, event.exit_code
      assert_equal [:expected], event.flags
      assert_kind_of Time, event.timestamp
      assert_in_delta before.to_f, event.timestamp.to_f, 5
    end
    wait_for("bad's restart") { rec.events("bad", :started).size >= 2 }
    assert_equal [], exited(rec, "bad").flags
    sleep 0.1
    %w[job three].each do |name|
      info = m.info(name)
      assert_equal :stopped, info.state
      assert_equal 1, info.starts
      assert_empty rec.events(name, :restart_scheduled)
    end
    started = rec.events("job", :started).first
    assert_includes %i[none group cgroup], started.containment
    assert_nil started.flags
    m.start_process("job")
    exited(rec, "job", 2)
  end

  def test_stop_signal_int_reaches_a_trapping_shell_and_usage_shows
    m = monitor
    rec = ProcmonTest::Recorder.new(m)
    script = "trap 'echo got INT; exit 7' INT\ni=0; while [ $i -lt 100000 ]; do i=$((i+1)); done\necho ready; #{LOOP}"
    m.add("trapper", sh(script), stop_signal: :INT, restart: :never, **FAST)
    wait_line(rec, "trapper", "ready")
    m.stop_process("trapper")
    event = exited(rec, "trapper")
    wait_line(rec, "trapper", "got INT")
    assert_equal 7, event.exit_code
    assert_includes event.flags, :requested
    assert_empty rec.events("trapper", :killed)
    assert_operator event.user_cpu + event.sys_cpu, :>, 0
    assert_operator event.max_rss_kib, :>, 0
    assert_equal :stopped, m.info("trapper").state
  end

  def test_signal_process_hup_and_whole_unit
    m = monitor
    rec = ProcmonTest::Recorder.new(m)
    m.add("counter", sh("n=0; trap 'n=$((n+1)); echo hup $n' HUP; echo ready; #{LOOP}"),
          containment: :group, **FAST)
    wait_line(rec, "counter", "ready")
    m.signal_process("counter", :HUP)
    wait_line(rec, "counter", "hup 1")
    m.signal_process("counter", "SIGHUP", whole_unit: true)
    wait_line(rec, "counter", "hup 2")
    m.signal_process("counter", Signal.list["HUP"])
    wait_line(rec, "counter", "hup 3")
    assert_empty rec.events("counter", :exited)
    assert_raises(Procmon::NotFoundError) { m.signal_process("nobody", :HUP) }
    assert_raises(Procmon::InvalidError) { m.signal_process("counter", 0) }
    assert_raises(Procmon::InvalidError) { m.signal_process("counter", 65) }
    assert_raises(ArgumentError) { m.signal_process("counter", :NOSUCH) }
    m.add("done", sh("exit 0"), restart: :never)
    exited(rec, "done")
    assert_raises(Procmon::StateError) { m.signal_process("done", :HUP) }
  end

  def test_env_vars_on_top_of_the_inherited_environment_and_rlimits
    ENV["PM_INHERITED"] = "inherited"
    ENV["PM_GONE"] = "still here"
    m = monitor
    rec = ProcmonTest::Recorder.new(m)
    script = 'echo "$PM_INHERITED ${PM_EXTRA-unset} ${PM_GONE-unset}"; ' \
             "echo \"nofile $(ulimit -n) core $(ulimit -c)\"; #{LOOP}"
    m.add("env", sh(script), env_vars: { "PM_EXTRA" => "extra", "PM_GONE" => nil },
                             rlimits: { nofile: [64, 128], core: 0 }, **FAST)
    wait_line(rec, "env", "inherited extra unset")
    wait_line(rec, "env", "nofile 64 core 0")
    # The same keywords through add_process.
    m.add_process("old", sh("echo \"$PM_EXTRA $(ulimit -n)\"; #{LOOP}"),
                  env_vars: { "PM_EXTRA" => "x" }, rlimits: { "NOFILE" => 32 })
    wait_line(rec, "old", "x 32")
    assert_equal :none, rec.events("old", :started).first.containment
  ensure
    ENV.delete("PM_INHERITED")
    ENV.delete("PM_GONE")
  end

  def test_start_limit_gives_up_and_fails
    m = monitor
    rec = ProcmonTest::Recorder.new(m)
    m.add("crasher", sh("exit 1"), start_limit: { burst: 2, interval: 30 }, **FAST)
    gave_up = wait_for("GAVE_UP") { rec.events("crasher", :gave_up).first }
    assert_equal 0.0, gave_up.delay
    info = m.info("crasher")
    assert_equal :failed, info.state
    assert_equal 2, info.starts
    m.start_process("crasher")
    wait_for("a start after the revival") { rec.events("crasher", :started).size >= 3 }
    m.add("retry", sh("exit 1"), start_limit: { burst: 1, interval: 30, retry_after: 0.2 }, **FAST)
    wait_for("the retry") { rec.events("retry", :started).size >= 2 }
    assert_in_delta 0.2, rec.events("retry", :gave_up).first.delay, 1e-9
  end

  def test_group_containment_stops_a_grandchild
    m = monitor
    rec = ProcmonTest::Recorder.new(m)
    %i[group none].each do |mode|
      name = mode.to_s
      m.add(name, sh("sleep 60 & echo $!; #{LOOP}"), restart: :never, containment: mode, **FAST)
      pid = Integer(wait_for("#{name}'s grandchild") { rec.lines(name).first })
      started = rec.events(name, :started).first
      assert_equal mode, started.containment
      assert_nil started.detail
      m.stop_process(name)
      exited(rec, name)
      if mode == :group
        wait_for("the grandchild's end") { gone?(pid) }
      else
        sleep 0.1
        refute gone?(pid), "under :none the stop reached the grandchild"
        Process.kill(:KILL, pid)
        wait_for("the grandchild killed by the test") { gone?(pid) }
      end
    end
    m.add("auto", sh(LOOP), **FAST)
    started = wait_for("auto's STARTED") { rec.events("auto", :started).first }
    assert_includes %i[group cgroup], started.containment
    ["relative/path", "/nonexistent/procmon-root"].each do |root|
      assert_raises(Procmon::InvalidError) { m.cgroup_root = root }
    end
    assert_nil m.cgroup_root
  end

  def test_bad_values_raise_invalid_error_naming_the_setting
    m = monitor
    {
      { threshold: -1 } => /threshold/,
      { kill_time: Float::NAN } => /kill time/,
      { restart_delays: [2, 1] } => /delay/,
      { stop_signal: :KILL } => /stop signal/,
      { stop_signal: 65 } => /stop signal/,
      { restart: 9 } => /restart/,
      { containment: 9 } => /containment/,
      { start_limit: { burst: 1, interval: -1 } } => /start limit/,
      { rlimits: { nofile: [10, 5] } } => /rlimit/,
      { rlimits: { 999 => 1 } } => /rlimit/,
      { env_vars: { "A=B" => "x" } } => /environment/,
      { env_vars: { "" => "x" } } => /environment/,
      { watchdog: 1 } => /watchdog/
    }.each do |options, pattern|
      err = assert_raises(Procmon::InvalidError, options.inspect) { m.add("bad", ["true"], **options) }
      assert_match pattern, err.message, options.inspect
    end
    assert_raises(Procmon::NotFoundError) { m.info("bad") }
    assert_raises(ArgumentError) { m.add("bad", ["true"], restart: :sometimes) }
    assert_raises(ArgumentError) { m.add("bad", ["true"], containment: :box) }
    assert_raises(ArgumentError) { m.add("bad", ["true"], rlimits: { nosuch: 1 }) }
    assert_raises(ArgumentError) { m.add("bad", ["true"], start_limit: { interval: 1 }) }
    assert_raises(ArgumentError) { m.add("bad", ["true"], restart_delays: [1]) }
  end

  def test_add_many_spawns_every_child_by_the_time_it_returns
    m = monitor
    rec = ProcmonTest::Recorder.new(m)
    entries = (0...20).map { |i| ["s#{i}", ["/bin/sleep", "60"], { containment: :none }] }
    entries << ["t", ["/bin/sleep", "61"]]
    m.add_many(entries)
    entries.each do |name, _|
      info = m.info(name)
      assert_equal :running, info.state, name
      assert_operator info.pid, :>, 0, name
    end
    entries.each { |name, _| wait_for("#{name}'s STARTED") { rec.events(name, :started).size == 1 } }
    m.add_many([])
    m.add_many("h" => ["/bin/sleep", "60"])
    assert_operator m.pid("h"), :>, 0
  end

  def test_add_many_is_all_or_nothing
    m = monitor
    m.add("web", ["/bin/sleep", "60"])
    sleep_argv = ["/bin/sleep", "60"]
    error = assert_raises(Procmon::ExistsError) { m.add_many([["a", sleep_argv], ["web", sleep_argv]]) }
    assert_includes error.message, "names[1]"
    error = assert_raises(Procmon::ExistsError) { m.add_many([["a", sleep_argv], ["a", sleep_argv]]) }
    assert_includes error.message, "names[1]"
    error = assert_raises(Procmon::InvalidError) do
      m.add_many([["a", sleep_argv], ["b", sleep_argv, { restart_delays: [2, 1] }]])
    end
    assert_includes error.message, "specs[1]"
    assert_raises(Procmon::InvalidError) { m.add_many([["a", sleep_argv], ["", sleep_argv]]) }
    assert_raises(ArgumentError) { m.add_many([["a", sleep_argv], ["b\0", sleep_argv]]) }
    %w[a b].each { |name| assert_raises(Procmon::NotFoundError) { m.pid(name) } }
    m.stop
    m.add_many([["x", sleep_argv], ["y", sleep_argv]])
    %w[x y].each do |name|
      assert_equal :stopped, m.info(name).state
      assert_nil m.pid(name)
    end
  end
end

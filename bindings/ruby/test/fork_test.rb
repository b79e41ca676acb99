# frozen_string_literal: true

require_relative "test_helper"

class ForkTest < Minitest::Test
  include ProcmonTest

  TICKER = ["sh", "-c", "while :; do echo tick; sleep 0.02; done"].freeze

  # In a forked child the monitor refuses every call and closes at once (its
  # at_exit close too), without touching the parent's child; the parent's
  # monitor goes on.
  def test_fork_close_returns_at_once_and_the_parent_goes_on
    m = monitor
    rec = ProcmonTest::Recorder.new(m)
    m.add_process("t", TICKER)
    wait_for("two ticks") { rec.lines("t").size >= 2 }
    pid = m.pid("t")
    child = fork do
      ok = begin
        m.pid("t")
        false
      rescue Procmon::StateError => e
        e.message.include?("forked child")
      end
      started = now
      m.close
      exit(ok && m.closed? && now - started < 1.0 ? 0 : 1) # at_exit runs too
    end
    status = wait_for("the forked child to exit") { Process.waitpid2(child, Process::WNOHANG)&.last }
    assert status.success?, "the forked child failed: #{status.inspect}"
    seen = rec.lines("t").size
    wait_for("more ticks in the parent") { rec.lines("t").size >= seen + 5 }
    assert_equal pid, m.pid("t")
    assert_empty rec.events("t", :exited)
  ensure
    if child && !status
      Process.kill(:KILL, child)
      Process.wait(child)
    end
  end
end

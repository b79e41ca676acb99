# frozen_string_literal: true

require_relative "test_helper"

class ReadinessTest < Minitest::Test
  include ProcmonTest

  LOOP = "while :; do sleep 0.05; done"

  def test_after_waits_for_a_notify_fd_ready_db_and_on_ready_is_called
    m = monitor
    rec = ProcmonTest::Recorder.new(m)
    readies = Queue.new
    m.on_ready { |name, pid| readies << [name, pid] }
    m.add("api", ["sh", "-c", LOOP], after: ["db"])
    info = m.info("api")
    assert_equal :starting, info.state
    assert_nil info.pid
    m.add("db", ["sh", "-c", "sleep 0.3; echo >&3; #{LOOP}"], ready: :notify_fd, ready_arg: "3")
    first = pop(readies, "the db's READY")
    assert_equal "db", first[0]
    assert_equal m.pid("db"), first[1]
    assert_equal "api", pop(readies, "the api's READY")[0]
    assert_equal :running, m.info("api").state
    kinds = rec.events("db").map(&:kind)
    assert_equal %i[started ready], kinds.first(2)
    assert_equal m.pid("db"), rec.events("db", :ready).first.pid
  end

  def test_line_readiness_unhealthy_and_bad_input
    m = monitor
    rec = ProcmonTest::Recorder.new(m)
    m.add("web", ["sh", "-c", "echo 'listening on 80'; #{LOOP}"], ready: :line, ready_arg: "listening on")
    wait_for("READY") { rec.events("web", :ready).first }
    m.report_unhealthy("web")
    exited = wait_for("EXITED") { rec.events("web", :exited).first }
    assert_equal 15, exited.signal
    assert_raises(Procmon::InvalidError) { m.add("x", ["true"], ready: :notify_fd, ready_arg: "2") }
    err = assert_raises(Procmon::InvalidError) { m.add("x", ["true"], watchdog: 1) }
    assert_match(/watchdog/, err.message)
    assert_raises(Procmon::NotFoundError) { m.report_unhealthy("nobody") }
    assert_raises(ArgumentError) { m.add("x", ["true"], ready: :bogus) }
  end
end

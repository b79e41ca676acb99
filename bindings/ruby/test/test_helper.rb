# frozen_string_literal: true

require "minitest/autorun"
require "rbconfig"
require_relative "../lib/procmon"

# Helpers shared by the tests: a deadline-bound wait, a recorder of callbacks,
# monitors closed after each test, and process liveness checks.
module ProcmonTest
  DEADLINE = 10.0

  def setup
    @monitors = []
  end

  def teardown
    @monitors.each { |m| m.send(:close_quietly) }
  end

  # A monitor with fast test settings, closed after the test.
  def monitor(**settings)
    m = Procmon::Monitor.new(kill_time: 0.5, min_restart_delay: 0.05, **settings)
    @monitors << m
    m
  end

  def now
    Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end

  # Polls the block until it returns a truthy value (returned), failing after
  # DEADLINE seconds.
  def wait_for(what = "the condition", timeout: DEADLINE)
    deadline = now + timeout
    loop do
      value = yield
      return value if value
      flunk "timed out after #{timeout} s waiting for #{what}" if now > deadline
      sleep 0.01
    end
  end

  # Pops a value pushed by a callback, failing after DEADLINE seconds.
  def pop(queue, what = "a value from a callback")
    wait_for(what) do
      queue.pop(true)
    rescue ThreadError
      nil
    end
  end

  # True when no process has this pid (ESRCH); a zombie (a grandchild
  # waiting for its reaper) counts as gone.
  def gone?(pid)
    Process.kill(0, pid)
    File.read("/proc/#{pid}/stat").split(") ").last.start_with?("Z")
  rescue Errno::ESRCH, Errno::ENOENT
    true
  end

  # Records every line and event of a monitor, thread-safely.
  class Recorder
    def initialize(monitor)
      @lock = Mutex.new
      @lines = []
      @events = []
      monitor.on_line { |name, stream, line| @lock.synchronize { @lines << [name, stream, line] } }
      monitor.on_event { |event| @lock.synchronize { @events << event } }
    end

    def lines(name = nil, stream = :stdout)
      @lock.synchronize do
        @lines.select { |n, s, _| (name.nil? || n == name) && s == stream }.map(&:last)
      end
    end

    def events(name = nil, kind = nil)
      @lock.synchronize do
        @events.select { |e| (name.nil? || e.name == name) && (kind.nil? || e.kind == kind) }
      end
    end
  end
end

# frozen_string_literal: true

module Procmon
  # Readiness, watchdog and start order (libprocmon 0.2): Monitor#on_ready and
  # Monitor#report_unhealthy (Monitor#add, with ready:/watchdog:/after:, is in
  # spec.rb). Kept apart from monitor.rb, which it extends.
  module Native
    WAITS_READY = { blocking: true }.freeze
    attach_function :procmon_spec_new, [:pointer], :pointer
    attach_function :procmon_spec_free, [:pointer], :void
    attach_function :procmon_spec_set_env, %i[pointer pointer], :int
    attach_function :procmon_spec_set_cwd, %i[pointer string], :int
    attach_function :procmon_spec_set_user, %i[pointer int64 int64], :int
    attach_function :procmon_spec_set_readiness, %i[pointer int string double], :int
    attach_function :procmon_spec_set_watchdog, %i[pointer double], :int
    attach_function :procmon_spec_set_after, %i[pointer pointer], :int
    attach_function :procmon_add, %i[pointer string pointer], :int, WAITS_READY
    attach_function :procmon_report_unhealthy, %i[pointer string], :int, WAITS_READY
  end

  # What the :ready event and state look like to the rest of the binding.
  module Readiness
    MODES = { on_start: 0, notify_fd: 1, sd_notify: 2, line: 3 }.freeze
    READY = 7
    STARTING = 5

    # on_ready { |name, pid| ... }: called (on the callback thread, before the
    # #on_event block sees the same :ready event) when a run is ready.
    # Without a block, removes it.
    def on_ready(&block)
      @ready_handler = block
      self
    end

    # The host's own health check of +name+ failed: handled as a missed
    # watchdog. StateError when it is not running.
    def report_unhealthy(name)
      name = c_string(name, "name")
      call { |pm| Native.procmon_report_unhealthy(pm, name) }
      self
    end

    private

    def deliver_event(pointer)
      raw = Native::Event.new(pointer)
      handler = @ready_handler
      if raw[:kind] == READY && handler && !@muted
        name = -raw[:name].read_string.force_encoding(Encoding::UTF_8)
        pid = raw[:pid]
        run_callback(:ready) { handler.call(name, pid) }
      end
      super
    end
  end

  Monitor.prepend(Readiness)
end

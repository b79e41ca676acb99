require "procmon"

Procmon::Monitor.open do |monitor|
  done = Queue.new
  monitor.on_line do |name, _stream, line|
    puts "[#{name}] #{line}"
    done << true if line == "world"
  end
  monitor.add_process("greeter", ["sh", "-c", "echo hello; echo world; exec sleep 60"])
  done.pop
end

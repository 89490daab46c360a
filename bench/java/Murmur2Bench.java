import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.kafka.common.utils.Utils;

/**
 * Baseline for bench/key-analysis.ts: the same keys ("key-" + i, UTF-8), hashed with Kafka's own
 * Utils.murmur2 from the broker's jars, counted as moved when toPositive(h) % from != % to.
 * Run: java -cp "<kafka lib>/*" bench/java/Murmur2Bench.java <keys> <from> <to>
 * Prints one JSON line: loop time (ns), keys, moved, peak RSS (VmHWM, KiB).
 */
public class Murmur2Bench {
  public static void main(String[] args) throws Exception {
    int count = Integer.parseInt(args[0]);
    int from = Integer.parseInt(args[1]);
    int to = Integer.parseInt(args[2]);
    long started = System.nanoTime();
    long moved = 0;
    long[] perSourceKeys = new long[from];
    long[] perSourceMoved = new long[from];
    for (int i = 0; i < count; i++) {
      byte[] key = ("key-" + i).getBytes(StandardCharsets.UTF_8);
      int h = Utils.toPositive(Utils.murmur2(key));
      int source = h % from;
      perSourceKeys[source]++;
      if (source != h % to) {
        moved++;
        perSourceMoved[source]++;
      }
    }
    long elapsed = System.nanoTime() - started;
    long hwm = -1;
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmHWM:")) hwm = Long.parseLong(line.replaceAll("[^0-9]", ""));
    }
    long cpuMs = ProcessHandle.current().info().totalCpuDuration().map(d -> d.toMillis()).orElse(-1L);
    System.out.println("{\"loopNs\":" + elapsed + ",\"keys\":" + count + ",\"moved\":" + moved + ",\"maxRssKiB\":" + hwm + ",\"cpuMs\":" + cpuMs + "}");
  }
}

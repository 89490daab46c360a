package dev.kreorg.agent;

/** Where the agent logs; the default writes {@code [kreorg-agent] ...} lines to stderr. The secret is never logged. */
@FunctionalInterface
public interface KreorgLogger {
  void warn(String message);

  default void info(String message) {}

  KreorgLogger STDERR = new KreorgLogger() {
    @Override
    public void warn(String message) {
      System.err.println("[kreorg-agent] WARN " + message);
    }

    @Override
    public void info(String message) {
      System.err.println("[kreorg-agent] " + message);
    }
  };
}

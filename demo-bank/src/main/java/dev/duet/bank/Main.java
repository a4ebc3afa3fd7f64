package dev.duet.bank;

import dev.duet.bank.account.BankCommand;
import dev.duet.bank.chaos.ChaosCommand;
import dev.duet.bank.load.LoadCommand;
import dev.duet.bank.postgres.PostgresCommand;
import dev.duet.bank.transfer.TransfersCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code java -jar demo-bank.jar bank|transfers|load|postgres|chaos ...}; {@code bin/demo} drives it. */
@Command(name = "demo-bank", mixinStandardHelpOptions = true, version = "duet demo bank 0.1.0",
    description = "The Duet demo bank: banks, the transfer service, a load generator, an embedded PostgreSQL.",
    subcommands = {BankCommand.class, TransfersCommand.class, LoadCommand.class, PostgresCommand.class,
        ChaosCommand.class})
public final class Main implements Runnable {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "name a command: bank, transfers, load, postgres or chaos");
  }

  public static void main(String[] args) {
    CommandLine cli = new CommandLine(new Main());
    cli.setExecutionExceptionHandler((ex, cmd, parsed) -> {
      Throwable root = ex;
      while (root.getCause() != null) root = root.getCause();
      cmd.getErr().println(cmd.getCommandName() + ": " + (root.getMessage() != null ? root.getMessage() : root.toString()));
      return 1;
    });
    System.exit(cli.execute(args));
  }
}

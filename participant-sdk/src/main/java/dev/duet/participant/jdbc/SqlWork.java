package dev.duet.participant.jdbc;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * Database work done inside a transaction branch. It runs on the branch's connection, which the SDK
 * owns: do not commit, roll back, change auto-commit or close it.
 */
@FunctionalInterface
public interface SqlWork<T> {
  T run(Connection c) throws SQLException;
}

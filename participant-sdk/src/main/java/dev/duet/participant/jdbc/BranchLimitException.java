package dev.duet.participant.jdbc;

import java.sql.SQLException;

/**
 * No room for another branch: {@link XaOptions#branchesMax()} branches are active or prepared. The
 * service should answer 503 and the caller retry later; nothing was started.
 */
public final class BranchLimitException extends SQLException {
  /** SQLSTATE class 53: insufficient resources. */
  public static final String SQL_STATE = "53000";

  public BranchLimitException(String message) {
    super(message, SQL_STATE);
  }
}

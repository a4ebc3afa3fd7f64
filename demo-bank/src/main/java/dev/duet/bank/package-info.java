/**
 * The demo bank: two banks, each a Duet participant with its own database ({@code account}), the
 * transfer service that moves money between them in one transaction ({@code transfer}), a load
 * generator with an audit ({@code load}) and an embedded PostgreSQL for the demo ({@code postgres}).
 */
package dev.duet.bank;

package dev.duet.bank;

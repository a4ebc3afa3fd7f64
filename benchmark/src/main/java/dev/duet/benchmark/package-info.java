package dev.duet.benchmark;

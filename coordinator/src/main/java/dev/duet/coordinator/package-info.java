package dev.duet.coordinator;

package dev.duet.participant;

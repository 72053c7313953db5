"""Tests of multilevel.postestimation."""

"""glmm."""

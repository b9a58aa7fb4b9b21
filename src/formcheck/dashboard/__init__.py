"""The therapist dashboard (Streamlit): thin pages over formcheck.storage, which enforces access."""

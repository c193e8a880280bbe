//! PostgreSQL: the shared store for several stateless nodes.

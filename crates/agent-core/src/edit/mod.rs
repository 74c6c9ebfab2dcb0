//! SEARCH/REPLACE edit format: parsing and transactional application.

#include "model/objects.h"

#include <cerrno>
#include <vector>

#include "model/refusal.h"

namespace ioasid::model {

uint32_t ObjectTable::add(std::unique_ptr<Object> obj) {
    uint32_t id;
    if (!free_ids_.empty()) {
        id = *free_ids_.begin();
        free_ids_.erase(free_ids_.begin());
    } else {
        if (next_id_ > kMaxId) return 0;
        id = next_id_++;
    }
    obj->id = id;
    objects_.emplace(id, std::move(obj));
    return id;
}

Object* ObjectTable::find_any(uint32_t id) const {
    auto it = objects_.find(id);
    return it == objects_.end() ? nullptr : it->second.get();
}

Object* ObjectTable::find(uint32_t id, ObjectType type) const {
    Object* o = find_any(id);
    return (o && o->type == type) ? o : nullptr;
}

void ObjectTable::release_id(uint32_t id) {
    if (id + 1 == next_id_) {
        // Keep the free set small: shrink the high-water mark instead.
        --next_id_;
        while (!free_ids_.empty() && *free_ids_.rbegin() + 1 == next_id_) {
            free_ids_.erase(std::prev(free_ids_.end()));
            --next_id_;
        }
    } else {
        free_ids_.insert(id);
    }
}

int ObjectTable::destroy(uint32_t id) {
    auto it = objects_.find(id);
    if (it == objects_.end()) return -ENOENT;
    if (it->second->users) return refuse(-EBUSY, "DESTROY: the object is in use");
    std::unique_ptr<Object> obj = std::move(it->second);
    objects_.erase(it);
    obj->release_refs(*this);
    release_id(id);
    return 0;
}

void ObjectTable::destroy_all() {
    while (!objects_.empty()) {
        std::vector<uint32_t> leaves;
        for (const auto& [id, obj] : objects_)
            if (obj->users == 0) leaves.push_back(id);
        if (leaves.empty()) break;  // a reference cycle would be a model bug
        for (uint32_t id : leaves) destroy(id);
    }
    objects_.clear();
    free_ids_.clear();
    next_id_ = 1;
}

// Domains are keyed apart from devices and test owners in the IOAS's list
// of reserved ranges.
void HwptPagingObject::release_refs(ObjectTable& table) {
    auto* ioas = table.get<IoasObject>(ioas_id, ObjectType::Ioas);
    if (!ioas) return;
    ioas->users--;
    ioas->ioas.remove_domain(domain_key(id));
}

}  // namespace ioasid::model
